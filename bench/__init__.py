"""The provisioning benchmark (`bench/provision.py`) and its direct-client baseline."""
