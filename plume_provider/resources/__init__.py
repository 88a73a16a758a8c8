"""Pulumi dynamic resources for the Plume Cloud: `PlumeCustomer` and `PlumeNode`.

```python
from plume_provider.resources import PlumeCustomer, PlumeCustomerArgs, PlumeNode, PlumeNodeArgs

home = PlumeCustomer("alice", PlumeCustomerArgs(account_id="CRM-1", name="Alice A"))
PlumeNode("alice-gw", PlumeNodeArgs(customer_id=home.customer_id,
                                    location_id=home.location_id, serial_number="LAB-GW-0001"))
```

Credentials and endpoints come from the stack config (`plume:*`) or `PLUME_*` env vars when
the provider runs; nothing secret is stored in the stack state. Declaring a resource patches
nothing: a program that wants the SDK's scale costs paid less calls `apply_sdk_workarounds()`
first (README, "Using the resources in your own program").
"""

from plume_provider.resources.customer import CustomerProvider, PlumeCustomer, PlumeCustomerArgs
from plume_provider.resources.node import NodeProvider, PlumeNode, PlumeNodeArgs
from plume_provider.resources.sdk_workarounds import apply_sdk_workarounds

__all__ = [
    "CustomerProvider",
    "NodeProvider",
    "PlumeCustomer",
    "PlumeCustomerArgs",
    "PlumeNode",
    "PlumeNodeArgs",
    "apply_sdk_workarounds",
]
