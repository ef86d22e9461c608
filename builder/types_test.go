package builder

import (
	"github.com/harborbundle/bundle/internal/fakeharbor"
	"github.com/harborbundle/bundle/payload"
)

type (
	payloadEntry  = payload.Entry
	payloadImage  = payload.Image
	payloadReader = *payload.Reader
	fakeImageRef  = fakeharbor.ImageRef
)
