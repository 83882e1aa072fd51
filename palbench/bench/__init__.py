"""The harness: config, data, loop, executors, store access, reports, command line."""
