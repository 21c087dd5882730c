import { Module } from '@nestjs/common';
import { TasksRepository } from './tasks.repository.js';

/** Tasks for people raised by booking and the venues (transfers, cards to prepare, mismatches). */
@Module({ providers: [TasksRepository], exports: [TasksRepository] })
export class TasksModule {}
