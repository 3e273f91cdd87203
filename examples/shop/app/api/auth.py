from fastapi import APIRouter, Depends, Request

from app.services.webhooks import record_audit

router = APIRouter(prefix="/auth")


async def log_login(request: Request) -> None:
    # A dependency that writes to a file before every login response.
    record_audit(0)


@router.post("/login", dependencies=[Depends(log_login)])
async def login(username: str):
    return {"token": f"token-for-{username}"}
