module revokebot

go 1.26
