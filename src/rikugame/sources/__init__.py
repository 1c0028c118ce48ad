"""Where history comes from: Prometheus (cAdvisor + kube-state-metrics), metrics-server, trace files."""
