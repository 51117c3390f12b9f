-- Merged contacts (docs/routing.md, Merging contacts): a consumer merged
-- into another keeps its row, emptied, naming the one it became, so the
-- tokens a browser still holds for it reach the merged contact.
ALTER TABLE consumers ADD COLUMN merged_into TEXT NOT NULL DEFAULT '';
