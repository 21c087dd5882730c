/** Every migration, in order. `npm run cli -- db migration:create NAME` writes new ones beside this file. */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261124141146_initial } from './Migration20261124141146_initial.js';
import { Migration20261124150000_search_indexes } from './Migration20261124150000_search_indexes.js';
import { Migration20261124160000_staff_workplace } from './Migration20261124160000_staff_workplace.js';
import { Migration20261124170000_qa_book } from './Migration20261124170000_qa_book.js';
import { Migration20261124180000_venue_scope } from './Migration20261124180000_venue_scope.js';
import { Migration20261124190000_dashboard_indexes } from './Migration20261124190000_dashboard_indexes.js';
import { Migration20261124200000_bulk_job_claim } from './Migration20261124200000_bulk_job_claim.js';
import { Migration20261126010000_auth_throttle } from './Migration20261126010000_auth_throttle.js';
import { Migration20261126020000_card_integrity } from './Migration20261126020000_card_integrity.js';
import { Migration20261126040000_app_role } from './Migration20261126040000_app_role.js';
import { Migration20261126100000_booking_foundation } from './Migration20261126100000_booking_foundation.js';
import { Migration20261126120000_slot_days } from './Migration20261126120000_slot_days.js';
import { Migration20261126130000_booking } from './Migration20261126130000_booking.js';
import { Migration20261126140000_callcenter } from './Migration20261126140000_callcenter.js';
import { Migration20261126150000_resident_pages } from './Migration20261126150000_resident_pages.js';
import { Migration20261126160000_venue_desk } from './Migration20261126160000_venue_desk.js';
import { Migration20261126170000_mailing } from './Migration20261126170000_mailing.js';
import { Migration20261127100000_legacy_migration } from './Migration20261127100000_legacy_migration.js';
import { Migration20261127110000_reconciliation } from './Migration20261127110000_reconciliation.js';
import { Migration20261127120000_report_indexes } from './Migration20261127120000_report_indexes.js';
import { Migration20261127130000_mail_flows } from './Migration20261127130000_mail_flows.js';

export const migrations: MigrationObject[] = [
  { name: 'Migration20261124141146_initial', class: Migration20261124141146_initial },
  { name: 'Migration20261124150000_search_indexes', class: Migration20261124150000_search_indexes },
  { name: 'Migration20261124160000_staff_workplace', class: Migration20261124160000_staff_workplace },
  { name: 'Migration20261124170000_qa_book', class: Migration20261124170000_qa_book },
  { name: 'Migration20261124180000_venue_scope', class: Migration20261124180000_venue_scope },
  { name: 'Migration20261124190000_dashboard_indexes', class: Migration20261124190000_dashboard_indexes },
  { name: 'Migration20261124200000_bulk_job_claim', class: Migration20261124200000_bulk_job_claim },
  { name: 'Migration20261126010000_auth_throttle', class: Migration20261126010000_auth_throttle },
  { name: 'Migration20261126020000_card_integrity', class: Migration20261126020000_card_integrity },
  { name: 'Migration20261126040000_app_role', class: Migration20261126040000_app_role },
  { name: 'Migration20261126100000_booking_foundation', class: Migration20261126100000_booking_foundation },
  { name: 'Migration20261126120000_slot_days', class: Migration20261126120000_slot_days },
  { name: 'Migration20261126130000_booking', class: Migration20261126130000_booking },
  { name: 'Migration20261126140000_callcenter', class: Migration20261126140000_callcenter },
  { name: 'Migration20261126150000_resident_pages', class: Migration20261126150000_resident_pages },
  { name: 'Migration20261126160000_venue_desk', class: Migration20261126160000_venue_desk },
  { name: 'Migration20261126170000_mailing', class: Migration20261126170000_mailing },
  { name: 'Migration20261127100000_legacy_migration', class: Migration20261127100000_legacy_migration },
  { name: 'Migration20261127110000_reconciliation', class: Migration20261127110000_reconciliation },
  { name: 'Migration20261127120000_report_indexes', class: Migration20261127120000_report_indexes },
  { name: 'Migration20261127130000_mail_flows', class: Migration20261127130000_mail_flows },
];
