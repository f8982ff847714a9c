package cityweb

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"civicdesk/city"
	"civicdesk/push"
	"civicdesk/workflow"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Public routes (docs/pwa.md "Public requests"): no auth, no personal data.
const (
	PathPublicRequests = "/api/city/requests"
	PathMap            = "/city/map.geojson"
	// MaxPublicRequests caps one answer; the client narrows its box for more.
	MaxPublicRequests = 200
	// maxBoxDegrees keeps a box to a city's size (about 110 km).
	maxBoxDegrees = 1.0
)

// PublicRequest is what anyone may see of a request of a public service:
// never the citizen, description, address, answers or photos. The point is
// rounded to 4 decimals (about 10 m).
type PublicRequest struct {
	ID          string  `db:"id" json:"id"`
	Number      string  `db:"number" json:"number"`
	ServiceCode string  `db:"code" json:"serviceCode"`
	Status      string  `db:"status" json:"status"`
	Lat         float64 `db:"geo_lat" json:"lat"`
	Lon         float64 `db:"geo_lon" json:"lon"`
	Created     string  `db:"created" json:"created"`
	Updated     string  `db:"updated" json:"updated"`
	Followers   int     `db:"followers" json:"followers"`
}

const publicSelect = "SELECT r.[[id]], COALESCE(r.[[number]], '') AS [[number]], s.[[code]], r.[[status]], COALESCE(r.[[geo_lat]], 0) AS [[geo_lat]], COALESCE(r.[[geo_lon]], 0) AS [[geo_lon]], " +
	"r.[[created]], r.[[updated]], (SELECT COUNT(*) FROM [[follows]] f WHERE f.[[request]] = r.[[id]]) AS [[followers]] " +
	"FROM [[requests]] r JOIN [[services]] s ON s.[[id]] = r.[[service]] WHERE s.[[public]] = TRUE "

func registerPublic(se *core.ServeEvent) {
	se.Router.GET(PathPublicRequests, handlePublicList)
	se.Router.GET(PathPublicRequests+"/{id}", handlePublicOne)
	se.Router.GET(PathMap, handleMap)
}

// parseBox reads "minLon,minLat,maxLon,maxLat".
func parseBox(s string) (minLon, minLat, maxLon, maxLat float64, err error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return 0, 0, 0, 0, errors.New("bbox must be minLon,minLat,maxLon,maxLat")
	}
	v := make([]float64, 4)
	for i, p := range parts {
		if v[i], err = strconv.ParseFloat(strings.TrimSpace(p), 64); err != nil || math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
			return 0, 0, 0, 0, errors.New("bbox must be four numbers")
		}
	}
	minLon, minLat, maxLon, maxLat = v[0], v[1], v[2], v[3]
	switch {
	case minLat < -90 || maxLat > 90 || minLon < -180 || maxLon > 180 || minLat > maxLat || minLon > maxLon:
		return 0, 0, 0, 0, errors.New("bbox is outside the world or reversed")
	case maxLat-minLat > maxBoxDegrees || maxLon-minLon > maxBoxDegrees:
		return 0, 0, 0, 0, fmt.Errorf("bbox may span at most %g degrees", maxBoxDegrees)
	}
	return minLon, minLat, maxLon, maxLat, nil
}

// handlePublicList answers GET /api/city/requests?bbox=&service=&status=open|all:
// public requests in the box (newest first), for the public map and for
// "already reported nearby" before filing.
func handlePublicList(e *core.RequestEvent) error {
	q := e.Request.URL.Query()
	where := ""
	params := dbx.Params{}
	if b := q.Get("bbox"); b != "" {
		minLon, minLat, maxLon, maxLat, err := parseBox(b)
		if err != nil {
			return e.BadRequestError("Invalid bbox.", map[string]any{"bbox": map[string]string{"code": "validation_invalid_bbox", "message": err.Error()}})
		}
		where += "AND r.[[geo_lat]] BETWEEN {:minLat} AND {:maxLat} AND r.[[geo_lon]] BETWEEN {:minLon} AND {:maxLon} AND NOT (r.[[geo_lat]] = 0 AND r.[[geo_lon]] = 0) "
		params["minLat"], params["maxLat"], params["minLon"], params["maxLon"] = minLat, maxLat, minLon, maxLon
	}
	if svc := q.Get("service"); svc != "" {
		where += "AND s.[[code]] = {:svc} "
		params["svc"] = svc
	}
	switch q.Get("status") {
	case "", "open":
		where += "AND r.[[status]] IN ('received', 'in_progress', 'waiting_citizen') "
	case "all":
		where += "AND r.[[status]] IN ('received', 'in_progress', 'waiting_citizen', 'resolved') "
	default:
		return e.BadRequestError("Invalid status.", map[string]any{"status": map[string]string{"code": "validation_invalid_value", "message": "status is open or all"}})
	}
	items := []PublicRequest{}
	err := e.App.DB().NewQuery(publicSelect + where + "ORDER BY r.[[created]] DESC LIMIT " + strconv.Itoa(MaxPublicRequests+1)).Bind(params).All(&items)
	if err != nil {
		return e.InternalServerError("Failed to list public requests.", err)
	}
	truncated := len(items) > MaxPublicRequests
	if truncated {
		items = items[:MaxPublicRequests]
	}
	for i := range items {
		items[i].round()
	}
	e.Response.Header().Set("Cache-Control", "no-cache")
	return e.JSON(http.StatusOK, map[string]any{"items": items, "truncated": truncated})
}

func (p *PublicRequest) round() {
	p.Lat = math.Round(p.Lat*1e4) / 1e4
	p.Lon = math.Round(p.Lon*1e4) / 1e4
}

func handlePublicOne(e *core.RequestEvent) error {
	var p PublicRequest
	err := e.App.DB().NewQuery(publicSelect + "AND r.[[id]] = {:id} AND r.[[status]] NOT IN ('cancelled', 'rejected')").Bind(dbx.Params{"id": e.Request.PathValue("id")}).One(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return e.NotFoundError("No such public request.", nil)
	}
	if err != nil {
		return e.InternalServerError("Failed to load the request.", err)
	}
	p.round()
	e.Response.Header().Set("Cache-Control", "no-cache")
	return e.JSON(http.StatusOK, p)
}

func handleMap(e *core.RequestEvent) error {
	b, err := city.Of(e.App).Map()
	if err != nil {
		e.App.Logger().Error("city map", "error", err)
		return e.NotFoundError("The city's map file is not configured correctly.", nil)
	}
	e.Response.Header().Set("Cache-Control", "no-cache")
	return e.Blob(http.StatusOK, "application/geo+json", b)
}

// bindFollowerPushes queues each follower a push for a request's public status
// changes, in the change's transaction (workflow events, like push's own).
func bindFollowerPushes(app core.App) {
	workflow.Of(app).OnStatusChanged.Bind(&hook.Handler[*workflow.Event]{
		Id: "civicdeskFollowerPush",
		Func: func(e *workflow.Event) error {
			if e.Entry == nil || !e.Entry.GetBool("public") {
				return e.Next()
			}
			var followers []string
			if err := e.App.DB().NewQuery("SELECT [[citizen]] FROM [[follows]] WHERE [[request]] = {:r}").Bind(dbx.Params{"r": e.Request.Id}).Column(&followers); err != nil {
				return fmt.Errorf("followers of %s: %w", e.Request.Id, err)
			}
			for _, c := range followers {
				m := push.Message{Kind: push.KindStatus, RequestID: e.Request.Id, Number: e.Request.GetString("number"), Status: e.To, Follow: true}
				if _, err := push.Enqueue(e.App, c, m, time.Now(), push.DefaultTTL); err != nil {
					return fmt.Errorf("push to follower: %w", err)
				}
			}
			if len(followers) > 0 {
				e.AfterCommit(func() { push.Poke(app) })
			}
			return e.Next()
		},
	})
}
