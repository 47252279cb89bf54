// Run once by the mongo image on a new data volume (/docker-entrypoint-initdb.d), as MongoDB's administrator: the account
// the worker, the bridge, the ops console and vocabctl connect with, which reads and writes the vocab database only.
db.getSiblingDB('admin').createUser({
  user: 'vocab-app',
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: 'readWrite', db: 'vocab' }],
});
