"""Evaluation stages downstream of both training (`lenet`) and serving (`demo`): they read exported
run folders and run images through the demo's own code path. Only this package imports both."""
