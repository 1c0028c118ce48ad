"""The in-cluster operator (kopf handlers). Built with the operator issue."""
