package receipts

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"civicdesk/city"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

// Route paths (CONTRACT §6).
const (
	PathJWKS   = "/.well-known/receipt-keys"
	PathQR     = "/api/mobile/receipts/{id}/qr.png"
	PathVerify = "/api/receipts/verify"
)

// VerifyBodyLimit caps POST /api/receipts/verify bodies: room for a code of
// MaxCodeLen characters plus JSON, and nothing more.
const VerifyBodyLimit = 4 << 10

// JWKSMaxAge is how long clients may use the JWKS without revalidating: a
// revoked key reaches online verifiers within this time.
const JWKSMaxAge = 300

func bindRoutes(se *core.ServeEvent) {
	s := Of(se.App)
	se.Router.GET(PathJWKS, s.handleJWKS)
	se.Router.GET(PathQR, s.handleQR)
	se.Router.POST(PathVerify, s.handleVerify).Bind(apis.BodyLimit(VerifyBodyLimit))
}

func (s *Service) handleJWKS(e *core.RequestEvent) error {
	set, err := s.Keys()
	if err != nil {
		return e.InternalServerError("Receipt keys are unavailable.", err)
	}
	cfg := city.Of(s.app)
	body, etag, err := jwksBody(set, &JWKSIssuer{Code: cfg.IssuerCode, Name: cfg.Name})
	if err != nil {
		return e.InternalServerError("Receipt keys are unavailable.", err)
	}
	h := e.Response.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(JWKSMaxAge))
	h.Set("Access-Control-Allow-Origin", "*") // public keys: third-party verifiers fetch them from anywhere
	if match := e.Request.Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		return e.NoContent(http.StatusNotModified)
	}
	return e.Blob(http.StatusOK, "application/jwk-set+json", body)
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == etag || p == "*" {
			return true
		}
	}
	return false
}

func (s *Service) handleQR(e *core.RequestEvent) error {
	if e.Auth == nil {
		return e.UnauthorizedError("Sign in to get a receipt's QR code.", nil)
	}
	ppm := DefaultModulePixels
	if raw := e.Request.URL.Query().Get("ppm"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < MinModulePixels || n > MaxModulePixels {
			return e.BadRequestError("Invalid query parameter.", validation.Errors{
				"ppm": validation.NewError("validation_out_of_range", "ppm must be an integer from "+strconv.Itoa(MinModulePixels)+" to "+strconv.Itoa(MaxModulePixels)+"."),
			})
		}
		ppm = n
	}
	rec, err := s.app.FindRecordById(collReceipts, e.Request.PathValue("id"))
	if err != nil {
		return e.NotFoundError("", nil)
	}
	info, err := e.RequestInfo()
	if err != nil {
		return e.BadRequestError("", err)
	}
	// the collection's view rule decides (owner citizen, staff of the department, supervisors)
	ok, err := s.app.CanAccessRecord(rec, info, rec.Collection().ViewRule)
	if err != nil || !ok {
		return e.NotFoundError("", nil)
	}
	img, err := QRPNG(rec.GetString("code"), ppm)
	if err != nil {
		return e.InternalServerError("", err)
	}
	h := e.Response.Header()
	h.Set("Cache-Control", "private, max-age=86400") // a receipt's code never changes
	h.Set("Content-Disposition", `inline; filename="receipt-`+rec.Id+`.png"`)
	return e.Blob(http.StatusOK, "image/png", img)
}

type verifyBody struct {
	Code *string `json:"code"`
}

func (s *Service) handleVerify(e *core.RequestEvent) error {
	var body verifyBody
	dec := json.NewDecoder(e.Request.Body)
	if err := dec.Decode(&body); err != nil {
		if errors.Is(err, apis.ErrRequestEntityTooLarge) {
			return err // 413 in PocketBase's error shape
		}
		return e.BadRequestError("Send a JSON body {\"code\": \"CR1:...\"}.", validation.Errors{
			"code": validation.NewError("validation_required", "Missing code."),
		})
	}
	if body.Code == nil {
		return e.BadRequestError("Send a JSON body {\"code\": \"CR1:...\"}.", validation.Errors{
			"code": validation.NewError("validation_required", "Missing code."),
		})
	}
	res, err := s.Verify(strings.TrimSpace(*body.Code))
	if err != nil {
		return e.InternalServerError("Verification is unavailable.", err)
	}
	e.Response.Header().Set("Cache-Control", "no-store")
	return e.JSON(http.StatusOK, res)
}
