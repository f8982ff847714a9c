package receipts

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// JWK is one public key of the receipt-keys JWKS (RFC 7517/7518), with the
// civicdesk members iss (the issuer the key signs for) and status.
type JWK struct {
	Kty    string `json:"kty"`
	Crv    string `json:"crv"`
	Alg    string `json:"alg"`
	Use    string `json:"use"`
	Kid    string `json:"kid"`
	X      string `json:"x"`
	Y      string `json:"y"`
	Iss    string `json:"iss"`
	Status string `json:"status"`
}

// JWKS is the document served at /.well-known/receipt-keys.
type JWKS struct {
	Keys []JWK `json:"keys"`
	// Issuer names the city for display by verifiers (not used in verification).
	Issuer *JWKSIssuer `json:"issuer,omitempty"`
}

// JWKSIssuer describes the current issuer.
type JWKSIssuer struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// JWKS returns every key that ever signed, in creation order.
func (s *KeySet) JWKS() (*JWKS, error) {
	out := &JWKS{Keys: []JWK{}}
	for _, k := range s.keys {
		ecdhKey, err := k.Public.ECDH()
		if err != nil {
			return nil, fmt.Errorf("jwks: key %s: %w", k.KidString(), err)
		}
		pt := ecdhKey.Bytes() // 0x04 || X (32) || Y (32)
		out.Keys = append(out.Keys, JWK{
			Kty: "EC", Crv: "P-256", Alg: "ES256", Use: "sig",
			Kid: k.KidString(),
			X:   base64.RawURLEncoding.EncodeToString(pt[1:33]),
			Y:   base64.RawURLEncoding.EncodeToString(pt[33:65]),
			Iss: k.Issuer, Status: k.Status,
		})
	}
	return out, nil
}

// jwksBody renders the JWKS and its strong ETag (a digest of the body).
func jwksBody(set *KeySet, issuer *JWKSIssuer) ([]byte, string, error) {
	doc, err := set.JWKS()
	if err != nil {
		return nil, "", err
	}
	doc.Issuer = issuer
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, "", fmt.Errorf("jwks: %w", err)
	}
	sum := sha256.Sum256(body)
	return body, `"` + hex.EncodeToString(sum[:12]) + `"`, nil
}
