"""The box: the command line (`cli/`), the daemon (`daemon/`), the investigator's services
(`cases/`), the configuration (`config/`), and `wiring`, the one place that turns a
configuration into the runtime objects the others receive. Nothing imports `gateway`."""
