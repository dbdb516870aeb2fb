package stack

// SandboxClients are the OAuth client credentials the worker signs in with
// to the sandbox, as the ERP gateway's client and as Genesys's. The sandbox
// accepts the clients its REFUNDFLOW_SANDBOX_CLIENTS lists.
type SandboxClients struct {
	GatewayID, GatewaySecret string
	GenesysID, GenesysSecret string
}

// defaultSandboxClients are the clients the sandbox accepts when
// REFUNDFLOW_SANDBOX_CLIENTS is not set.
var defaultSandboxClients = SandboxClients{
	GatewayID: "sandbox-gateway", GatewaySecret: "sandbox-gateway-secret",
	GenesysID: "sandbox-genesys", GenesysSecret: "sandbox-genesys-secret",
}

// SandboxWorkerEnv is the worker's environment (KEY=value) that sends its
// ERP gateway calls (token, refunds, chargebacks) and its Genesys calls to
// the sandbox at sandboxURL, signed in as the OAuth clients the sandbox
// accepts by default (sandbox-gateway and sandbox-genesys). The gateway
// kind stays the worker's default, erp. Settings appended after these win:
// os/exec keeps the last of duplicate keys.
func SandboxWorkerEnv(sandboxURL string) []string {
	return SandboxWorkerEnvAs(sandboxURL, defaultSandboxClients)
}

// SandboxWorkerEnvAs is SandboxWorkerEnv signed in as clients, for a
// sandbox started with its own REFUNDFLOW_SANDBOX_CLIENTS.
func SandboxWorkerEnvAs(sandboxURL string, clients SandboxClients) []string {
	return []string{
		"REFUNDFLOW_GATEWAY_REFUND_URL=" + sandboxURL + "/erp/refunds",
		"REFUNDFLOW_GATEWAY_CHARGEBACK_URL=" + sandboxURL + "/erp/chargebacks",
		"REFUNDFLOW_GATEWAY_TOKEN_URL=" + sandboxURL + "/oauth/token",
		"REFUNDFLOW_GATEWAY_STATUS_URL=" + sandboxURL + "/erp/refunds",
		"REFUNDFLOW_GATEWAY_CLIENT_ID=" + clients.GatewayID,
		"REFUNDFLOW_GATEWAY_CLIENT_SECRET=" + clients.GatewaySecret,
		"REFUNDFLOW_GENESYS_API_URL=" + sandboxURL,
		"REFUNDFLOW_GENESYS_LOGIN_URL=" + sandboxURL,
		"REFUNDFLOW_GENESYS_CLIENT_ID=" + clients.GenesysID,
		"REFUNDFLOW_GENESYS_CLIENT_SECRET=" + clients.GenesysSecret,
	}
}
