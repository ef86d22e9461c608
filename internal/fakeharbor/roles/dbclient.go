package roles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// dbClient is core's connection to harbor-db over the fake wire protocol.
type dbClient struct {
	base string
	http *http.Client
}

func newDBClient(env *Env) *dbClient {
	host, port := env.Getenv("POSTGRESQL_HOST"), env.Getenv("POSTGRESQL_PORT")
	if host == "" {
		host = "postgresql"
	}
	if port == "" {
		port = "5432"
	}
	return &dbClient{base: "http://" + host + ":" + port, http: &http.Client{Timeout: 10 * time.Second}}
}

func (c *dbClient) do(method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(method, c.base+path, &body)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		return fmt.Errorf("database: %s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(msg.Bytes()))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

func (c *dbClient) ping() error { return c.do(http.MethodGet, "/health", nil, nil) }

func (c *dbClient) schema() (schemaState, error) {
	var st schemaState
	err := c.do(http.MethodGet, "/schema_migrations", nil, &st)
	return st, err
}

func (c *dbClient) setSchema(st schemaState) error {
	return c.do(http.MethodPut, "/schema_migrations", st, nil)
}

func (c *dbClient) rows(table string, out any) error {
	return c.do(http.MethodGet, "/tables/"+table, nil, out)
}

func (c *dbClient) insert(table string, row any) error {
	return c.do(http.MethodPost, "/tables/"+table, row, nil)
}

func (c *dbClient) replace(table string, rows any) error {
	return c.do(http.MethodPut, "/tables/"+table, rows, nil)
}

// waitReady waits for the database as real core does at start, retrying for up to timeout.
func (c *dbClient) waitReady(env *Env, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.ping()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("failed to connect to database: %w", err)
		}
		env.logf("core", "failed to connect to database, retry after 1 second: %v", err)
		time.Sleep(time.Second)
	}
}
