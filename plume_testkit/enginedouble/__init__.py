"""A test double of the Pulumi engine: the real program and dynamic-provider host, driven over
gRPC."""
