-- What a check found per image: `digest` or `tag` (a strategy plugin's move), the image a tag
-- move goes to, and which semver part changes — so the services list can show it.
alter table image_checks
    add column kind text,
    add column target text,
    add column semver_diff text;
