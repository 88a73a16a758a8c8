"""A test double of the Pulumi engine: the real dynamic-provider host driven over gRPC."""
