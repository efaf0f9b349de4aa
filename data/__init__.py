"""Getting data in: OSM files and Overpass, departments' lists, the embedded and PostGIS stores."""
