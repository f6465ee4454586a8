"""Kubernetes plumbing shared by every package that talks to a cluster: the API client factory and
kubectl (with `kubectl kustomize`). Label selectors are matched in `validator.model.label_selector`
(pure, also used by the criteria)."""

from validator.kube.client import api_client
from validator.kube.kubectl import KubectlNotFound, KustomizeFailed, find_kubectl, kustomize

__all__ = ["KubectlNotFound", "KustomizeFailed", "api_client", "find_kubectl", "kustomize"]
