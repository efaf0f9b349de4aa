"""Route modules by domain: queries, facilities, writes, maps, meta."""
