-- Uploads find the article an earlier upload of the same file made by its file name.
CREATE INDEX articles_source ON articles (source);
