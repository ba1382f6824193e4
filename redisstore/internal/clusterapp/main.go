// Command clusterapp is the application TestCluster runs as several
// instances behind a load balancer: cookie sessions, with a redisstore.Store
// as the Coordinator, on a single Redis, a Sentinel or a Cluster.
//
// It is configured by the MONOCLOUD_AUTH_* variables (read by monocloud.New)
// and by:
//
//	CLUSTERAPP_LISTEN      address to listen on, e.g. 127.0.0.1:8081
//	CLUSTERAPP_REDIS_TOPOLOGY  single (default), sentinel or cluster
//	CLUSTERAPP_REDIS_ADDRS     comma-separated addresses of the Redis: the
//	                           server, the sentinels (master "mymaster") or
//	                           the cluster's nodes
//	CLUSTERAPP_NAME        this instance's name, answered in X-Instance
//
// Routes, all protected but /healthz, besides the auth routes:
//
//	/            the signed-in user's sub, as text
//	/api/tokens  GetTokens as JSON, refreshing when ?force=1; 503 when the
//	             Coordinator fails (a *monocloud.StoreError), 502 on any
//	             other error
//	/healthz     200, to wait for the instance to listen
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

// redisTimeout bounds every Redis command: a Redis that is down or hangs
// fails a request in about this time.
const redisTimeout = 500 * time.Millisecond

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// run serves the application until it fails.
func run() error {
	name := os.Getenv("CLUSTERAPP_NAME")
	rdb, err := newRedisClient(os.Getenv("CLUSTERAPP_REDIS_TOPOLOGY"), strings.Split(os.Getenv("CLUSTERAPP_REDIS_ADDRS"), ","))
	if err != nil {
		return err
	}
	defer rdb.Close()
	var opts redisstore.Options
	if topology := os.Getenv("CLUSTERAPP_REDIS_TOPOLOGY"); topology == "sentinel" || topology == "cluster" {
		opts.Replicas = 1 // a lock or shared refresh survives the master's death
	}
	client, err := monocloud.New(monocloud.Options{Coordinator: redisstore.New(rdb, &opts)})
	if err != nil {
		return err
	}
	defer client.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s, err := client.Session(r.Context())
		if err != nil || s == nil {
			http.Error(w, fmt.Sprintf("no session: %v", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, s.User["sub"])
	})
	mux.HandleFunc("GET /api/tokens", func(w http.ResponseWriter, r *http.Request) {
		tokens, err := client.GetTokens(r.Context(), &monocloud.GetTokensOptions{ForceRefresh: r.URL.Query().Get("force") == "1"})
		if err != nil {
			status := http.StatusBadGateway
			if se := (*monocloud.StoreError)(nil); errors.As(err, &se) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, "GetTokens: "+err.Error(), status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(tokens)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	protected := client.AuthMiddleware(&monocloud.MiddlewareOptions{
		IsProtected: func(r *http.Request) bool { return r.URL.Path != "/healthz" },
	})(mux)
	named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Instance", name)
		protected.ServeHTTP(w, r)
	})
	srv := &http.Server{Addr: os.Getenv("CLUSTERAPP_LISTEN"), Handler: named, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// newRedisClient returns a client of the Redis topology at addrs.
func newRedisClient(topology string, addrs []string) (redis.UniversalClient, error) {
	opts := &redis.UniversalOptions{
		Addrs:        addrs,
		DialTimeout:  redisTimeout,
		ReadTimeout:  redisTimeout,
		WriteTimeout: redisTimeout,
		MaxRetries:   -1,
	}
	switch topology {
	case "", "single":
		return redis.NewClient(opts.Simple()), nil
	case "sentinel":
		opts.MasterName = "mymaster"
		return redis.NewFailoverClient(opts.Failover()), nil
	case "cluster":
		return redis.NewClusterClient(opts.Cluster()), nil
	}
	return nil, fmt.Errorf("CLUSTERAPP_REDIS_TOPOLOGY=%q: want single, sentinel or cluster", topology)
}
