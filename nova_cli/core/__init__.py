"""What every part of nova_cli shares: the CLI, the scaffold side, the dev server and the runtime.

Nothing here imports a server, a terminal library or another part of the
package, so that each part can read these names without pulling the others.
"""
