"""Index a run's documents into OpenSearch (the network edge of `--opensearch`), like kube-burner.

The index is created with the recorded mapping (bundled/schemas/opensearch-index.json) when it does
not exist yet; the documents go in with one bulk request (opensearch-py's helpers). Their `_id`s are
stable, so indexing a run again replaces its documents. Credentials come from `user:pass@` in the
URL or from the caller and never reach a message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from validator.export.documents import INDEX_MAPPING, Document
from validator.redaction import strip_url_credentials
from validator.resources import bundled


def index_mapping() -> dict[str, Any]:
    """The settings and mappings an index is created with."""
    mapping: dict[str, Any] = json.loads((bundled("schemas") / INDEX_MAPPING).read_text(encoding="utf-8"))
    return mapping


def index_documents(
    url: str,
    index: str,
    docs: Sequence[Document],
    *,
    username: str = "",
    password: str = "",
    timeout: float = 10.0,
) -> int:
    """Bulk-index the documents; how many were indexed. Raises opensearch-py's errors (a refused
    connection, a rejected document) when they cannot all be indexed."""
    from opensearchpy import OpenSearch, helpers  # here: only --opensearch pays its ~0.25 s import

    clean, credentials = strip_url_credentials(url)
    if credentials is not None and not username:
        username, password = credentials
    client = OpenSearch(
        hosts=[clean],
        http_auth=(username, password) if username else None,
        timeout=timeout,
        max_retries=1,
    )
    try:
        if not client.indices.exists(index=index):
            client.indices.create(index=index, body=index_mapping())

        def actions() -> Iterator[dict[str, Any]]:
            for doc in docs:
                yield {"_index": index, "_id": doc.id, "_source": doc.body}

        indexed, _ = helpers.bulk(client, actions(), refresh="wait_for")
    finally:
        client.close()
    return int(indexed)
