#!/usr/bin/env bash
# Placeholder until the PostGIS store lands: nothing to set up yet.
exit 0
