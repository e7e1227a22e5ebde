"""WhatsApp numbers (instances): their life cycle on Evolution API and here (`lifecycle`), the
Evolution API client and its value shapes, who is a member of a number, and the reconciler that
brings a number's state back in step with Evolution's."""
