package receipts_test

import (
	"testing"

	"civicdesk/receipts"
)

// BenchmarkSignQRPNG measures issuing one receipt: claims, ES256 signature,
// Base45 and the QR PNG at the default pixels per module.
func BenchmarkSignQRPNG(b *testing.B) {
	set := current(b, openStore(b, b.TempDir()))
	c := fixedClaims()
	b.ReportAllocs()
	for b.Loop() {
		code, err := receipts.Sign(c, set.Active())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := receipts.QRPNG(code, receipts.DefaultModulePixels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSign and BenchmarkQRPNG split BenchmarkSignQRPNG into its two halves.
func BenchmarkSign(b *testing.B) {
	set := current(b, openStore(b, b.TempDir()))
	c := fixedClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := receipts.Sign(c, set.Active()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkQRPNG(b *testing.B) {
	code := signFixed(b, current(b, openStore(b, b.TempDir())))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := receipts.QRPNG(code, receipts.DefaultModulePixels); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures offline verification (parse, key lookup, ES256
// verify, claims) on all cores; verifications/s = 1e9 / ns/op.
func BenchmarkVerify(b *testing.B) {
	set := current(b, openStore(b, b.TempDir()))
	code := signFixed(b, set)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, verr := set.Verify(code); verr != nil {
				b.Fatal(verr)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
