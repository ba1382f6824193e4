package main

import (
	"encoding/json"
	"net/http"

	"github.com/monocloud/auth-go/backend"
)

// routes returns the API: each route with the scopes or groups it needs.
func routes(api *backend.Client) http.Handler {
	readOrders := api.Protect(&backend.ProtectOptions{Scopes: []string{"read:orders"}})
	writeOrders := api.Protect(&backend.ProtectOptions{Scopes: []string{"write:orders"}})
	admins := api.Protect(&backend.ProtectOptions{Groups: []string{"admin"}})
	anyToken := api.Protect(nil)

	mux := http.NewServeMux()
	mux.Handle("GET /api/me", anyToken(http.HandlerFunc(me)))
	mux.Handle("GET /api/orders", readOrders(http.HandlerFunc(listOrders)))
	mux.Handle("POST /api/orders", writeOrders(http.HandlerFunc(createOrder)))
	mux.Handle("GET /api/admin/stats", admins(http.HandlerFunc(stats)))
	return mux
}

// me answers who the token belongs to.
func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := backend.ClaimsFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"sub":       claims.Subject(),
		"client_id": claims.ClientID(),
		"scopes":    claims.Scopes(),
		"groups":    claims.Groups("groups"),
	})
}

func listOrders(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []map[string]any{{"id": 1, "item": "tea"}})
}

func createOrder(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusCreated, map[string]any{"id": 2})
}

func stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"orders": 2})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
