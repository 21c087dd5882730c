/** Every migration, in order. `npm run cli -- db migration:create NAME` writes new ones beside this file. */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124141146_initial } from './Migration20261124141146_initial.js';

export const migrations: MigrationObject[] = [{ name: 'Migration20261124141146_initial', class: Migration20261124141146_initial }];
