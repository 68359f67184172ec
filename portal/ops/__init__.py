"""Running the portal: readiness for load balancers, Prometheus metrics for operators."""
