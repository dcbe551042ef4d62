"""Where sessions are kept: `memory` (one process) or `redis` (every worker and machine)."""
