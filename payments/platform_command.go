package payments

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"civicdesk/payments/fakeplatforms"

	"github.com/spf13/cobra"
)

// fakePlatformsCommand is `civicdesk payments fake-platforms`: the local
// fakes of GOV.UK Pay, Stripe and pagoPA on loopback, for the demo (make
// run starts it beside the server). It reads the same CIVICDESK_* keys and
// secrets as the server, so both sides agree without storing anything.
func fakePlatformsCommand() *cobra.Command {
	var addr, server string
	cmd := &cobra.Command{
		Use:   "fake-platforms",
		Short: "Run local fakes of GOV.UK Pay, Stripe Checkout and pagoPA (loopback only; test mode)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || !isLoopback(host) {
				return fmt.Errorf("fake-platforms: --http %q: the fakes listen on loopback only", addr)
			}
			cfg, err := PlatformConfigFromLookup(os.LookupEnv)
			if err != nil {
				return err
			}
			fc := fakeplatforms.Config{
				Server: strings.TrimRight(server, "/"), Base: "http://" + addr,
				GOVUKPayKey: cfg.GOVUKPay.APIKey, GOVUKPaySecrets: cfg.GOVUKPay.WebhookSecrets,
				StripeKey: cfg.Stripe.SecretKey, StripeSecrets: cfg.Stripe.WebhookSecrets,
				PagoPAKey: cfg.PagoPA.APIKey, PagoPAToken: cfg.PagoPA.ReceiptToken,
			}
			srv := &http.Server{Addr: addr, Handler: fakeplatforms.New(fc), ReadHeaderTimeout: 10 * time.Second}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			fmt.Fprintf(cmd.OutOrStdout(), "fake payment platforms on http://%s (govukpay/, stripe/, pagopa/), webhooks to %s\n", addr, fc.Server)
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("fake-platforms: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http", "127.0.0.1:8091", "loopback address to listen on")
	cmd.Flags().StringVar(&server, "server", "http://127.0.0.1:8090", "civicdesk's base URL (webhooks and receipts go there)")
	return cmd
}
