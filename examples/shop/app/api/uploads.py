import shutil

from fastapi import APIRouter, UploadFile

from app.services.images import images

router = APIRouter(prefix="/uploads")


@router.post("/images")
async def upload_image(file: UploadFile):
    # Saving the upload is persistence the response relies on, but it is blocking in async def.
    with open(f"/tmp/{file.filename}", "wb") as out:
        shutil.copyfileobj(file.file, out)
    images.make_thumbnail(file.filename)
    return {"stored": file.filename}
