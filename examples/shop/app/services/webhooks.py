import logging

import httpx

logger = logging.getLogger(__name__)
WEBHOOK_URL = "http://127.0.0.1:9001/hooks/orders"


async def notify_warehouse(order_id: int) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(WEBHOOK_URL, json={"order": order_id})


def record_audit(order_id: int) -> None:
    with open("audit.log", "a") as log:
        log.write(f"order {order_id} placed\n")
