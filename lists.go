package monocloud

import (
	"slices"
	"strings"
)

// mergeLists joins space-separated lists, dropping duplicates and keeping
// the first occurrence.
func mergeLists(lists ...string) string {
	var out []string
	for _, l := range lists {
		for _, item := range strings.Fields(l) {
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return strings.Join(out, " ")
}

func indicatorField(inds []Indicator, resource bool) string {
	var parts []string
	for _, ind := range inds {
		if resource {
			parts = append(parts, ind.Resource)
		} else {
			parts = append(parts, ind.Scopes)
		}
	}
	return strings.Join(parts, " ")
}

func allValidResources(s string) bool {
	for _, item := range strings.Fields(s) {
		if !validResource(item) {
			return false
		}
	}
	return true
}

// hasScope reports whether the space-separated scopes contain scope.
func hasScope(scopes, scope string) bool { return slices.Contains(strings.Fields(scopes), scope) }

// sameSet reports whether two space-separated lists hold the same items.
// It does not allocate for lists of up to 16 items.
func sameSet(a, b string) bool {
	if a == b {
		return true
	}
	var bufA, bufB [16]string
	sa, sb := appendFields(bufA[:0], a), appendFields(bufB[:0], b)
	slices.Sort(sa)
	sa = slices.Compact(sa)
	slices.Sort(sb)
	sb = slices.Compact(sb)
	return slices.Equal(sa, sb)
}

func appendFields(dst []string, s string) []string {
	for f := range strings.FieldsSeq(s) {
		dst = append(dst, f)
	}
	return dst
}

// joinFields collapses whitespace runs to single spaces and trims.
func joinFields(s string) string { return strings.Join(strings.Fields(s), " ") }
