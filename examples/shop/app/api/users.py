from fastapi import APIRouter
from pydantic import BaseModel

from app.services.email import send_welcome_email

router = APIRouter(prefix="/users")


class Registration(BaseModel):
    email: str
    name: str


@router.post("/register")
async def register(payload: Registration):
    # The client waits for the SMTP round trip, and the response never uses its result.
    await send_welcome_email(payload.email)
    return {"registered": payload.email}
