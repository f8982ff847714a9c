package receipts

import (
	"fmt"

	"civicdesk/city"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// Command returns the `receipts` cobra command (rotate-key, revoke-key, revoke) for app.
func Command(app core.App) *cobra.Command {
	root := &cobra.Command{
		Use:   "receipts",
		Short: "Manage receipt signing keys and revoke receipts",
	}
	root.AddCommand(&cobra.Command{
		Use:          "rotate-key",
		Short:        "Create a new active signing key; the old one is retired and keeps verifying",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, err := Of(app).KeyStore()
			if err != nil {
				return err
			}
			k, err := ks.Rotate(city.Of(app).IssuerCode)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "New active key %s (iss %s) in %s\n", k.KidString(), k.Issuer, ks.Path())
			return nil
		},
	})
	root.AddCommand(&cobra.Command{
		Use:   "revoke-key [--] KID",
		Short: "Revoke a signing key (kid as in the JWKS): receipts it signed stop verifying",
		// a base64url kid may start with '-', which a flag parser reads as a flag
		Long: "Revoke a signing key (kid as in the JWKS): receipts it signed stop verifying.\n" +
			"A kid is base64url and may start with '-': put -- before it, e.g.\n" +
			"  civicdesk receipts revoke-key --dir pb_data -- -mGhMw6cXQs",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, err := Of(app).KeyStore()
			if err != nil {
				return err
			}
			if err := ks.RevokeKey(args[0], city.Of(app).IssuerCode); err != nil {
				return err
			}
			set, err := ks.Current()
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked key %s; active key is %s\n", args[0], set.Active().KidString())
			return nil
		},
	})
	var reason string
	revoke := &cobra.Command{
		Use:          "revoke RECEIPT",
		Short:        "Revoke one receipt (its record id or cti in hex) with a public reason",
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := Of(app).Revoke(args[0], reason)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Revoked receipt %s (cti %s)\n", rec.Id, rec.GetString("cti"))
			return nil
		},
	}
	revoke.Flags().StringVar(&reason, "reason", "", "why the receipt is revoked (shown publicly by the verifier; no personal data)")
	_ = revoke.MarkFlagRequired("reason")
	root.AddCommand(revoke)
	return root
}
