"""The Redis plugin: every keyvalue and list interface over a Redis server."""

import redis.exceptions

from prism_accept.plugins.redis.store import RedisStore
from prism_accept.plugins.runtime import Plugin
from prism_accept.plugins.servicers.keyvalue import KEYVALUE_SERVICERS
from prism_accept.plugins.servicers.lists import LIST_SERVICERS
from prism_accept.plugins.stores import Limits

VERSION = "0.1.0"


def build_plugin() -> Plugin:
    store = RedisStore()
    limits = Limits()
    return Plugin(
        name="redis",
        version=VERSION,
        backend=store,
        servicers=[cls(store, limits) for cls in (*KEYVALUE_SERVICERS, *LIST_SERVICERS)],
        unavailable_errors=(redis.exceptions.ConnectionError, redis.exceptions.TimeoutError),
    )
