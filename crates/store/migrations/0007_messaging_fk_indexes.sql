-- Every foreign key has an index, so deleting a member never scans these tables.
CREATE INDEX conversations_survey_member_idx ON conversations(survey_member_id) WHERE survey_member_id IS NOT NULL;
CREATE INDEX messages_author_idx ON messages(author_id) WHERE author_id IS NOT NULL;
CREATE INDEX satisfaction_scores_member_idx ON satisfaction_scores(member_id) WHERE member_id IS NOT NULL;
