import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { AdminPagesController } from './admin-pages.controller.js';
import { AdminRepository } from './admin.repository.js';
import { AdminService } from './admin.service.js';

/** User administration for the `admin` role (pages under /admin/users). */
@Module({ imports: [AuthModule], controllers: [AdminPagesController], providers: [AdminRepository, AdminService] })
export class AdminModule {}
