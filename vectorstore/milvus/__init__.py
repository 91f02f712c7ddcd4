"""The distributed backend: chunks, documents, sentences and the keyword index in Milvus.

Everything a service replica reads lives in Milvus, so replicas keep no local files
besides the embedding model and any number of them can serve one store. The same code
talks to Milvus Lite's gRPC server, a Milvus standalone or a cluster, chosen by URI.

    connection   the client, readable errors, retries, the version record
    schema       collection names and schemas, the version record's shape, row encodings
    keyword      BM25 as sparse vectors: chunk-side weights, query-side IDF
    reader       MilvusSource and MilvusStore (what the service serves), their caches
    writer       MilvusWriter: full builds and incremental updates, one generation each
"""

from vectorstore.milvus.connection import MilvusConnection, MilvusStoreError
from vectorstore.milvus.reader import MilvusSource, MilvusStore
from vectorstore.milvus.schema import CollectionSet, Published
from vectorstore.milvus.writer import MilvusWriter

__all__ = ["CollectionSet", "MilvusConnection", "MilvusSource", "MilvusStore", "MilvusStoreError", "MilvusWriter", "Published"]
