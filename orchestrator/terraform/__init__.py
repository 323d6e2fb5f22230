"""Everything that touches Terraform: plugin discovery, rendering, the CLI adapter, the stack graph."""
