package parley

import (
	"strings"
	"time"
)

// Attachment is a file sent in a conversation: an image or a PDF. Its
// bytes live in the store's blob storage; the message of type "file"
// carries this description.
type Attachment struct {
	ID             string    `json:"id"`
	AccountID      string    `json:"account_id"`
	ConversationID string    `json:"conversation_id"`
	UploaderID     string    `json:"uploader_id"`
	Name           string    `json:"name"`
	ContentType    string    `json:"content_type"` // sniffed from the bytes, never taken from the uploader
	Size           int64     `json:"size"`
	SHA256         string    `json:"sha256"`
	CreatedAt      time.Time `json:"created_at"`
}

// AttachmentTypes are the content types accepted, by sniffed type.
var AttachmentTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "application/pdf": true,
}

// IsImage reports whether the attachment is shown inline as a picture.
func (a *Attachment) IsImage() bool { return strings.HasPrefix(a.ContentType, "image/") }
