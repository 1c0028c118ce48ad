"""Real Kubernetes control plane for tests: binaries from tools/build-k8s, processes on loopback.

The `api` tier runs etcd + kube-apiserver; the `e2e` tier adds kube-controller-manager,
kube-scheduler, kwok (fake nodes and pod usage) and metrics-server. Fixtures live in
`kubeharness.fixtures` and start everything lazily, once per pytest session.
"""
