"""重点支援: support programmes, calls, applications, review, selection and published selections."""
