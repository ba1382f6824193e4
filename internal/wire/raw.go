package wire

import "bytes"

// A Raw is a Value as encoded in a payload, checked but not decoded: its
// structure and its strings. It is decoded later, when needed, or written
// back as it is. The zero Raw is null.
type Raw struct {
	structure []byte
	strs      string
}

// RawMap reads what Map reads, with the same checks, but decodes nothing.
// The Raw costs one allocation, a copy of the value's structure; its
// strings share the Reader's copy.
func (r *Reader) RawMap() Raw {
	buf, strs := r.buf, r.strs
	if !r.mapNext() {
		return Raw{}
	}
	r.value(0, false)
	if r.err != nil {
		return Raw{}
	}
	return Raw{
		structure: bytes.Clone(buf[:len(buf)-len(r.buf)]),
		strs:      strs[:len(strs)-len(r.strs)],
	}
}

// Map decodes v as Reader.Map would have: nil for null, else the object.
// A Raw that RawMap returned always decodes: it was checked then.
func (v Raw) Map() map[string]any {
	if len(v.structure) == 0 {
		return nil
	}
	r := Reader{buf: v.structure, strs: v.strs}
	m := r.Map()
	if err := r.Done(); err != nil {
		panic("wire: a Raw that RawMap checked does not decode: " + err.Error())
	}
	return m
}

// Raw writes v: what a Writer wrote for it before it was read.
func (w *Writer) Raw(v Raw) {
	if len(v.structure) == 0 {
		w.Byte(tagNull)
		return
	}
	w.buf = append(w.buf, v.structure...)
	w.strs = append(w.strs, v.strs...)
}
