"""meta-flows' own Prefect 2 flows (thin layers over the core libraries).

Importing this package makes the Prefect API clients of this process share one TLS context per CA
file (:mod:`meta_flows.patches.prefect_tls`): otherwise each of the wave's task runs and events parses the
CA bundle again (~50 ms of CPU each time).
"""

from meta_flows.patches import prefect_tls

prefect_tls.share()
