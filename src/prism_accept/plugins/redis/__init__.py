"""Redis plugin (redis-py, asyncio). Run: python -m prism_accept.plugins.redis."""
