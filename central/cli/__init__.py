"""`evgw archive …`: the archive's commands, registered in the gateway's command table by
module path (`gateway.cli.main.ELSEWHERE`), so the gateway never imports this package."""
